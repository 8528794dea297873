# vdi-broker hyperv start
$ErrorActionPreference='Stop'
$n='finance-0a1b2c3d'
$w=150
try{
$vm=Get-VM -Name $n
for($i=0;$i -lt $w -and (Get-VM -Name $n).State -like 'Starting*';$i++){Start-Sleep -Seconds 1}
$s=[string](Get-VM -Name $n).State
if($s -ne 'Running' -and $s -notlike 'Starting*'){Start-VM -VM $vm}
@{id=[string]$vm.VMId;state=[string](Get-VM -Name $n).State}|ConvertTo-Json -Compress
}catch{
@{error=[string]$_.CategoryInfo.Category;id=[string]$_.FullyQualifiedErrorId;message=[string]$_.Exception.Message}|ConvertTo-Json -Compress
exit 1
}
