# vdi-broker hyperv revert
$ErrorActionPreference='Stop'
$n='finance-0a1b2c3d'
$o='vdi-broker'
$b='vdi-base'
$kvp=@{'vdi.agent-secret'='5ec0d'}
try{
$vm=Get-VM -Name $n
if($vm.Notes -notlike ($o+'*')){throw ('VM '+$n+' was not made by the broker')}
if($vm.State -ne 'Off'){Stop-VM -VM $vm -TurnOff -Force}
Restore-VMSnapshot -VMName $n -Name $b -Confirm:$false
$v=Get-WmiObject -Namespace root\virtualization\v2 -Class Msvm_VirtualSystemManagementService
$cs=Get-WmiObject -Namespace root\virtualization\v2 -Class Msvm_ComputerSystem -Filter ("Name='"+$vm.VMId+"'")
foreach($k in $kvp.Keys){$i=([WMIClass]'root\virtualization\v2:Msvm_KvpExchangeDataItem').CreateInstance();$i.Name=$k;$i.Data=$kvp[$k];$i.Source=0;$t=$i.PSBase.GetText(1);$v.RemoveKvpItems($cs,$t)|Out-Null;$v.AddKvpItems($cs,$t)|Out-Null}
@{id=[string]$vm.VMId;state=[string](Get-VM -Name $n).State}|ConvertTo-Json -Compress
}catch{
@{error=[string]$_.CategoryInfo.Category;id=[string]$_.FullyQualifiedErrorId;message=[string]$_.Exception.Message}|ConvertTo-Json -Compress
exit 1
}
