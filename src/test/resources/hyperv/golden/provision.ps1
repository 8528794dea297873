# vdi-broker hyperv provision
$ErrorActionPreference='Stop'
$c=2
$d='D:\VDI\Desktops\finance-0a1b2c3d.vhdx'
$m=4096
$n='finance-0a1b2c3d'
$p='D:\VDI\Templates\win11.vhdx'
$s='VDI-LAN'
$o='vdi-broker'
$b='vdi-base'
$kvp=@{'vdi.agent-secret'='c0ffee';'vdi.desktop-id'='0a1b2c3d-0000-4000-8000-000000000001'}
try{
if(Get-VM -Name $n -ErrorAction SilentlyContinue){throw ('A VM named '+$n+' exists')}
if(Test-Path -LiteralPath $d){Remove-Item -LiteralPath $d -Force}
New-VHD -Path $d -ParentPath $p -Differencing|Out-Null
try{
$vm=New-VM -Name $n -Generation 2 -MemoryStartupBytes ($m*1MB) -VHDPath $d
if($s){Connect-VMNetworkAdapter -VMName $n -SwitchName $s}
Set-VMProcessor -VM $vm -Count $c
Set-VM -VM $vm -Notes $o -CheckpointType Standard -AutomaticCheckpointsEnabled $false
$v=Get-WmiObject -Namespace root\virtualization\v2 -Class Msvm_VirtualSystemManagementService
$cs=Get-WmiObject -Namespace root\virtualization\v2 -Class Msvm_ComputerSystem -Filter ("Name='"+$vm.VMId+"'")
foreach($k in $kvp.Keys){$i=([WMIClass]'root\virtualization\v2:Msvm_KvpExchangeDataItem').CreateInstance();$i.Name=$k;$i.Data=$kvp[$k];$i.Source=0;$v.AddKvpItems($cs,$i.PSBase.GetText(1))|Out-Null}
Checkpoint-VM -VM $vm -SnapshotName $b
}catch{Remove-VM -Name $n -Force -ErrorAction SilentlyContinue;Remove-Item -LiteralPath $d -Force -ErrorAction SilentlyContinue;throw}
@{id=[string]$vm.VMId;name=$vm.Name;state=[string]$vm.State}|ConvertTo-Json -Compress
}catch{
@{error=[string]$_.CategoryInfo.Category;id=[string]$_.FullyQualifiedErrorId;message=[string]$_.Exception.Message}|ConvertTo-Json -Compress
exit 1
}
